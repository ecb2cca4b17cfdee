;; expect: common-lisp
(defun c:STAR (/ i)
  (dotimes (i 5)
    (command "_.LINE" '(0 0) (polar '(0 0) (* i 1.2566) 10.0) ""))
  (princ)
)
