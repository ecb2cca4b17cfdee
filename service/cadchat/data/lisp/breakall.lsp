;;; breakall.lsp -- BREAKALL：在所选线的全部交点处打断
;;; 用法：加载后输入 BREAKALL，选择直线、圆弧、开放的多段线或样条曲线；
;;; 每条线在与其他所选线的每个交点处打断（端点相接处不打断）。闭合的曲线和圆不打断
;;; （单点无法打断闭合曲线），会提示跳过的个数。整个操作可用一次 U 撤销。

(vl-load-com)

(defun breakall-intersections (obj1 obj2 / raw arr coords pts)
  ;; OBJ1 与 OBJ2（VLA 对象）的交点列表（WCS 点），不延伸。
  (setq raw (vla-IntersectWith obj1 obj2 acExtendNone)
        arr (vlax-variant-value raw)
  )
  (if (> (vlax-safearray-get-u-bound arr 1) 0)
    (progn
      (setq coords (vlax-safearray->list arr))
      (while coords
        (setq pts    (cons (list (car coords) (cadr coords) (caddr coords)) pts)
              coords (cdddr coords)
        )
      )
    )
  )
  pts
)

(defun breakall-piece-at (pieces pt fuzz / found piece d len)
  ;; PIECES 中在 PT 处可以打断的那一段（PT 在线上且不在端点），没有时返回 nil。
  (foreach piece pieces
    (if (and (not found)
             (entget piece)
             (setq d (vlax-curve-getDistAtPoint piece (vlax-curve-getClosestPointTo piece pt)))
             (< (distance pt (vlax-curve-getClosestPointTo piece pt)) fuzz)
             (setq len (vlax-curve-getDistAtParam piece (vlax-curve-getEndParam piece)))
             (> d fuzz)
             (< d (- len fuzz))
        )
      (setq found piece)
    )
  )
  found
)

(defun c:BREAKALL (/ *error* doc oldecho oldosmode ss i n ents closed hits points pieces piece before
                     fuzz count)
  (setq doc (vla-get-ActiveDocument (vlax-get-acad-object)))
  (defun *error* (msg)
    (if oldecho (setvar "CMDECHO" oldecho))
    (if oldosmode (setvar "OSMODE" oldosmode))
    (vla-EndUndoMark doc)
    (if (not (wcmatch (strcase msg) "*BREAK*,*CANCEL*,*EXIT*"))
      (princ (strcat "\n错误: " msg))
    )
    (princ)
  )
  (princ "\n选择要在交点处打断的线：")
  (if (setq ss (ssget "_:L" '((0 . "LINE,ARC,LWPOLYLINE,POLYLINE,SPLINE"))))
    (progn
      (setq n      (sslength ss)
            i      0
            closed 0
            count  0
            fuzz   1e-6
      )
      (while (< i n)
        (setq ents (cons (ssname ss i) ents)
              i    (1+ i)
        )
      )
      ;; 先求出全部交点，再打断：打断会生成新对象，不能边求边断
      (foreach ent ents
        (if (vlax-curve-isClosed ent)
          (setq closed (1+ closed))
          (progn
            (setq hits nil)
            (foreach other ents
              (if (not (eq other ent))
                (foreach pt (breakall-intersections (vlax-ename->vla-object ent) (vlax-ename->vla-object other))
                  (if (not (vl-some '(lambda (q) (equal q pt fuzz)) hits))
                    (setq hits (cons pt hits))
                  )
                )
              )
            )
            (setq points (cons (cons ent hits) points))
          )
        )
      )
      (vla-StartUndoMark doc)
      (setq oldecho   (getvar "CMDECHO")
            oldosmode (getvar "OSMODE")
      )
      (setvar "CMDECHO" 0)
      (setvar "OSMODE" 0)
      (foreach entry points
        (setq pieces (list (car entry)))
        (foreach pt (cdr entry)
          (if (setq piece (breakall-piece-at pieces pt fuzz))
            (progn
              (setq before (entlast))
              (command "_.BREAK" piece "_F" (trans pt 0 1) (trans pt 0 1))
              (if (not (eq before (entlast)))
                (setq pieces (cons (entlast) pieces))
              )
              (setq count (1+ count))
            )
          )
        )
      )
      (setvar "OSMODE" oldosmode)
      (setvar "CMDECHO" oldecho)
      (vla-EndUndoMark doc)
      (princ (strcat "\n共打断 " (itoa count) " 处。"))
      (if (> closed 0)
        (princ (strcat "\n跳过 " (itoa closed) " 条闭合曲线。"))
      )
    )
    (princ "\n没有选择对象。")
  )
  (princ)
)

(princ "\nBREAKALL 已加载：输入 BREAKALL 在交点处全部打断。")
(princ)
