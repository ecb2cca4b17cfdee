;; expect: wrong-arity
(defun area-of (w h) (* w h))
(defun c:AR (/ w)
  (setq w (getdist "\nWidth: "))
  (princ (rtos (area-of w) 2 2))
  (princ)
)
